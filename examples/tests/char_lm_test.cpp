// The character language model's pieces: UTF-8 round trips, generation on the key/value cache
// against the full causal forward, and sampling with temperature and top-k.
#include <catch2/catch.hpp>

#include "char_lm/model.hpp"
#include "char_lm/text.hpp"

using namespace char_lm;

TEST_CASE("UTF-8 decodes to code points and back; invalid bytes become U+FFFD", "[char_lm]") {
  const std::string s = "aé€😀\n";
  const auto cps = utf8_decode(s);
  REQUIRE(cps == std::vector<char32_t>{U'a', U'é', U'€', U'😀', U'\n'});
  CharVocab v(cps);
  CHECK(v.decode(v.encode(cps, "test")) == s);
  CHECK(utf8_decode(std::string("a\xff" "b")) == std::vector<char32_t>{U'a', 0xfffd, U'b'});
  CHECK_THROWS_WITH(v.encode(utf8_decode("z"), "--prompt"), Catch::Contains("--prompt") && Catch::Contains("'z'"));
}

TEST_CASE("GPT: stepping on the key/value cache gives the full causal forward's logits", "[char_lm]") {
  xg::manual_seed(1);
  GPT m(GPTConfig{30, 32, 4, 2, 64, 12, 0.0});
  m->eval();
  xg::NoGradGuard ng;
  const std::vector<int64_t> ids{3, 7, 1, 9, 22, 5, 8, 11, 0, 29};
  const xg::Tensor full = m(xg::tensor(ids).reshape({1, 10}));
  std::vector<xg::nn::KeyValue> cache(2);
  for (int64_t t = 0; t < 10; ++t) {
    xg::Tensor x = m->pos(m->tok(xg::tensor(std::vector<int64_t>{ids[static_cast<size_t>(t)]}).reshape({1, 1})), t);
    for (size_t i = 0; i < 2; ++i) x = (*m->blocks)[i]->step(x, cache[i]);
    const xg::Tensor step = m->head(m->ln_f(x)).reshape({-1});
    CHECK(xg::allclose(step, xg::narrow(full, 1, t, 1).reshape({-1}), 1e-5, 1e-5));
  }
}

TEST_CASE("GPT: sampling honours top-k and is repeatable with the same generator", "[char_lm]") {
  const xg::Tensor logits = xg::tensor(std::vector<double>{0.1, 2.0, -1.0, 1.5, 0.0});
  std::mt19937_64 rng(0);
  for (int i = 0; i < 50; ++i) CHECK(GPTImpl::sample(logits, 1.0, 1, rng) == 1);  // top-1 is the argmax
  for (int i = 0; i < 200; ++i) {
    const int64_t s = GPTImpl::sample(logits, 5.0, 2, rng);
    CHECK((s == 1 || s == 3));
  }
  xg::manual_seed(2);
  GPT m(GPTConfig{30, 16, 2, 1, 32, 8, 0.0});
  std::mt19937_64 a(7), b(7);
  const auto x = m->generate({1, 2, 3}, 25, 0.9, 0, a);  // runs past the context: the cache restarts
  CHECK(x.size() == 25);
  CHECK(x == m->generate({1, 2, 3}, 25, 0.9, 0, b));
}
