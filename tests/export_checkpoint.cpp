// Writes a 1+1-layer Transformer checkpoint for tests/reference/check_checkpoint.py to read with numpy.
#include <xgrad/xgrad.hpp>
namespace xg = xgrad;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  xg::nn::Transformer t(xg::nn::TransformerOptions().d_model(8).nhead(2).num_encoder_layers(1).num_decoder_layers(1).dim_feedforward(16));
  t->save(argv[1]);
}
