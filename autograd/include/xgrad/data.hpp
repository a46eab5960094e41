#pragma once
// xg::data: datasets, samplers, collation and the data loader (libtorch's torch::data).
#include "xgrad/data/dataloader.hpp"
#include "xgrad/data/datasets.hpp"
#include "xgrad/data/example.hpp"
#include "xgrad/data/samplers.hpp"
