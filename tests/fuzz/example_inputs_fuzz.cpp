// The examples' readers of user files: translate's --data pairs (read in every tokenization, then
// split), a run's metrics.csv and its checkpoint counters. Each takes the input or throws an
// xgrad::Error.
#include "common/checkpoint.hpp"
#include "common/metrics.hpp"
#include "fuzz_util.hpp"
#include "translate/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ScratchFile file(data, size, ".txt");
  using translate::Tokens;
  for (const translate::TextOptions text : {translate::TextOptions{Tokens::kWords, true}, {Tokens::kSplit, false},
                                            {Tokens::kD2l, true}, {Tokens::kChars, false}})
    fuzz::expect_error_or_success([&] {
      translate::Splits s = translate::split_pairs(translate::read_pairs(file.path, text), file.path, 0.05, 0.05, 1);
      (void)s;
    });
  fuzz::expect_error_or_success([&] {
    xgrad::examples::MetricsLog log(file.path, {"step", "epoch", "loss"});
    log.restore_until(1e9);
  });
  fuzz::expect_error_or_success([&] {
    xgrad::NamedTensors run = xgrad::load_npz(file.path);
    xgrad::examples::Counters c;
    for (auto& [k, v] : run) c.emplace_back(k, v.numel() == 1 ? v.item<double>() : NAN);
    xgrad::examples::RunCounters r;
    r.load(c);
  });
  return 0;
}
