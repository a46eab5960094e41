// An encoder-decoder Transformer ("Attention Is All You Need", d2l) trained from scratch on a CPU:
// by default it learns to rewrite dates written the many ways people write them as ISO 8601.
//   translate                       train on the built-in `dates` task and report test accuracy
//   translate --task reverse|sort   other built-in tasks;  --data pairs.tsv  your own pairs
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "translate/data.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;
namespace optim = xg::optim;
using namespace translate;

struct Config {
  int64_t d_model = 64, heads = 4, layers = 2, ffn = 256, max_len = 64;
  double dropout = 0.0;  // the generated tasks don't overfit 20k pairs: dropout only slows learning
};

// Embeddings (scaled by √d) + sinusoidal positions, nn::Transformer, and a projection to the
// target vocabulary.
struct Seq2SeqImpl : nn::Module {
  Seq2SeqImpl(int64_t src_vocab, int64_t tgt_vocab, const Config& c) : cfg(c) {
    src_embed = register_module("src_embed", nn::Embedding(nn::EmbeddingOptions(src_vocab, c.d_model).padding_idx(0)));
    tgt_embed = register_module("tgt_embed", nn::Embedding(nn::EmbeddingOptions(tgt_vocab, c.d_model).padding_idx(0)));
    pos = register_module("pos", nn::PositionalEncoding(c.d_model, c.dropout, c.max_len + 2));
    transformer = register_module("transformer", nn::Transformer(nn::TransformerOptions()
                                                                      .d_model(c.d_model)
                                                                      .nhead(c.heads)
                                                                      .num_encoder_layers(c.layers)
                                                                      .num_decoder_layers(c.layers)
                                                                      .dim_feedforward(c.ffn)
                                                                      .dropout(c.dropout)));
    generator = register_module("generator", nn::Linear(c.d_model, tgt_vocab));
    // N(0, 1/d) so that embedding·√d has unit scale, like the positional table; the padding
    // row (id 0) stays zero.
    for (auto* e : {&src_embed->weight, &tgt_embed->weight}) {
      nn::init::normal_(*e, 0.0, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
      std::fill_n(e->data_ptr<float>(), c.d_model, 0.0f);
    }
  }
  xg::Tensor embed(nn::Embedding& table, const xg::Tensor& ids, int64_t offset = 0) {
    return pos(table(ids) * std::sqrt(static_cast<double>(cfg.d_model)), offset);
  }
  xg::Tensor encode(const xg::Tensor& src, const xg::Tensor& src_pad) {
    return transformer->encoder(embed(src_embed, src), xg::Tensor(), src_pad);
  }
  // Teacher forcing: logits (B, T, V) for every target position at once.
  xg::Tensor forward(const Batch& b) {
    xg::Tensor memory = encode(b.src, b.src_pad);
    xg::Tensor mask = nn::generate_square_subsequent_mask(b.tgt_in.size(1));
    return generator(transformer->decoder(embed(tgt_embed, b.tgt_in), memory, mask, xg::Tensor(), b.tgt_pad, b.src_pad));
  }
  // Greedy decoding with the key/value cache: one decoder step per output token.
  std::vector<std::vector<int64_t>> greedy(const xg::Tensor& src, const xg::Tensor& src_pad, int64_t max_len) {
    xg::NoGradGuard ng;
    const int64_t B = src.size(0);
    xg::Tensor memory = encode(src, src_pad);
    nn::DecoderCache cache;
    std::vector<std::vector<int64_t>> out(B);
    std::vector<bool> done(B, false);
    xg::Tensor token = xg::full({B, 1}, static_cast<double>(Vocab::kBos), xg::kInt64);
    for (int64_t t = 0; t < max_len; ++t) {
      xg::Tensor h = transformer->decoder->forward_step(embed(tgt_embed, token, t), memory, cache, src_pad);
      xg::Tensor next = xg::argmax(generator(h).squeeze(1), -1);
      const int64_t* p = next.data_ptr<int64_t>();
      bool all_done = true;
      for (int64_t i = 0; i < B; ++i) {
        if (!done[i]) {
          out[i].push_back(p[i]);
          done[i] = p[i] == Vocab::kEos;
        }
        all_done &= done[i];
      }
      if (all_done) break;
      token = next.unsqueeze(1);
    }
    return out;
  }
  Config cfg;
  nn::Embedding src_embed{nullptr}, tgt_embed{nullptr};
  nn::PositionalEncoding pos{nullptr};
  nn::Transformer transformer{nullptr};
  nn::Linear generator{nullptr};
};
XG_MODULE(Seq2Seq);

namespace {

// Calls f(indices, batch) over all examples in batches of 250, in eval mode, then back to train.
template <class F>
void for_each_eval_batch(Seq2Seq& model, const Encoded& e, F&& f) {
  model->eval();
  const int64_t n = static_cast<int64_t>(e.src.size());
  for (int64_t s = 0; s < n; s += 250) {
    std::vector<int64_t> idx(std::min<int64_t>(250, n - s));
    std::iota(idx.begin(), idx.end(), s);
    f(idx, make_batch(e, idx));
  }
  model->train();
}

// Exact-sequence accuracy of greedy decoding on pairs, in batches.
double exact_accuracy(Seq2Seq& model, const Encoded& e, const Vocab& tv, bool chars, int64_t max_len,
                      std::vector<std::string>* predictions = nullptr) {
  int64_t right = 0;
  for_each_eval_batch(model, e, [&](const std::vector<int64_t>& idx, const Batch& b) {
    auto out = model->greedy(b.src, b.src_pad, max_len + 1);
    for (size_t i = 0; i < idx.size(); ++i) {
      std::string pred = tv.join(out[i], chars);
      right += pred == tv.join(e.tgt[idx[i]], chars);
      if (predictions) predictions->push_back(pred);
    }
  });
  return static_cast<double>(right) / static_cast<double>(e.src.size());
}

// Teacher-forced token accuracy: argmax of the logits against the target, padding excluded.
double token_accuracy(Seq2Seq& model, const Encoded& e) {
  xg::NoGradGuard ng;
  int64_t right = 0, total = 0;
  for_each_eval_batch(model, e, [&](const std::vector<int64_t>&, const Batch& b) {
    xg::Tensor hit = (xg::argmax(model(b), -1) == b.tgt_out) & ~b.tgt_pad;
    right += hit.to(xg::kInt64).sum().item<int64_t>();
    total += b.tgt_tokens;
  });
  return static_cast<double>(right) / static_cast<double>(std::max<int64_t>(total, 1));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgrad translate: train an encoder-decoder Transformer on a CPU"};
  std::string task = "dates", data;
  Config cfg;
  int64_t batch = 64, n_train = 20000, n_eval = 1000, min_freq = 1, seed = 0, eval_every = 200;
  double lr = 2e-3, time_budget = 60, target = 0.99, smoothing = 0.1, clip = 1.0;
  int epochs = 3;  // the cosine schedule spans the run: with the default budget it ends near lr·0.05
  int64_t warmup = 100;
  app.add_option("--task", task, "built-in task")->check(CLI::IsMember({"dates", "reverse", "sort"}))->capture_default_str();
  app.add_option("--data", data, "tab-separated source/target pairs (word level) instead of a task")->check(CLI::ExistingFile);
  app.add_option("--d-model", cfg.d_model, "model width")->check(CLI::Range(8, 4096))->capture_default_str();
  app.add_option("--heads", cfg.heads, "attention heads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--layers", cfg.layers, "encoder and decoder layers")->check(CLI::Range(1, 48))->capture_default_str();
  app.add_option("--ffn", cfg.ffn, "feed-forward width")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--dropout", cfg.dropout, "dropout")->check(CLI::Range(0.0, 0.9))->capture_default_str();
  app.add_option("--batch-size", batch, "examples per step")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--lr", lr, "peak AdamW learning rate")->check(CLI::Range(1e-7, 1.0))->capture_default_str();
  app.add_option("--warmup", warmup, "linear warmup steps before the cosine decay")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--label-smoothing", smoothing, "label smoothing")->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--clip", clip, "gradient norm clip")->check(CLI::Range(0.0, 1e6))->capture_default_str();
  app.add_option("--train-size", n_train, "generated training pairs")->check(CLI::Range(100, 10000000))->capture_default_str();
  app.add_option("--eval-size", n_eval, "validation and test pairs each")->check(CLI::Range(10, 100000))->capture_default_str();
  app.add_option("--min-freq", min_freq, "vocabulary minimum frequency (--data)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--epochs", epochs, "maximum epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--time-budget", time_budget, "stop training after this many seconds")->check(CLI::Range(1.0, 1e7))->capture_default_str();
  app.add_option("--target", target, "stop once validation exact accuracy reaches this")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--eval-every", eval_every, "steps between validations")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--seed", seed, "seed for data, initialisation and dropout")->capture_default_str();
  std::string runs = "runs", run_name;
  app.add_option("--runs", runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", run_name, "run folder name (default: the task or data file name)");
  CLI11_PARSE(app, argc, argv);
  if (cfg.d_model % cfg.heads != 0) {
    std::fprintf(stderr, "--d-model %lld must be divisible by --heads %lld\n", static_cast<long long>(cfg.d_model),
                 static_cast<long long>(cfg.heads));
    return 2;
  }
  try {
    if (run_name.empty()) run_name = data.empty() ? task : std::filesystem::path(data).stem().string();
    const std::filesystem::path run_dir = std::filesystem::path(runs) / run_name;
    std::filesystem::create_directories(run_dir);
    {
      std::ostringstream config;  // every option with its value, as the CLI sees them
      config << app.config_to_str(true, false);
      xg::write_file_atomic((run_dir / "config.ini").string(), config.str());
    }
    std::ostringstream metrics;
    metrics << "step,epoch,seconds,train_loss,lr,valid_exact,valid_token_accuracy\n";
    xg::manual_seed(static_cast<uint64_t>(seed));
    Splits sp = data.empty() ? make_task(task, n_train, n_eval, n_eval, static_cast<uint64_t>(seed)) : read_pairs(data, seed);
    std::vector<std::vector<std::string>> stoks, ttoks;
    for (auto& p : sp.train) stoks.push_back(tokenize(p.src, sp.chars)), ttoks.push_back(tokenize(p.tgt, sp.chars));
    Vocab sv = Vocab::build(stoks, min_freq), tv = Vocab::build(ttoks, min_freq);
    Encoded train = encode(sp.train, sv, tv, sp.chars, cfg.max_len), valid = encode(sp.valid, sv, tv, sp.chars, cfg.max_len),
            test = encode(sp.test, sv, tv, sp.chars, cfg.max_len);
    std::printf("task %s: %zu train / %zu valid / %zu test pairs, vocab %lld -> %lld\n",
                data.empty() ? task.c_str() : data.c_str(), sp.train.size(), sp.valid.size(), sp.test.size(),
                static_cast<long long>(sv.size()), static_cast<long long>(tv.size()));
    Seq2Seq model(sv.size(), tv.size(), cfg);
    std::printf("model: d_model %lld, %lld heads, %lld+%lld layers, ffn %lld: %lld parameters\n",
                static_cast<long long>(cfg.d_model), static_cast<long long>(cfg.heads), static_cast<long long>(cfg.layers),
                static_cast<long long>(cfg.layers), static_cast<long long>(cfg.ffn),
                static_cast<long long>(model->num_parameters()));

    auto [decay, no_decay] = optim::split_weight_decay(model->named_parameters());
    optim::AdamW opt({{decay, optim::AdamWOptions(lr).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.01)},
                      {no_decay, optim::AdamWOptions(lr).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.0)}});
    const int64_t steps_per_epoch = (static_cast<int64_t>(sp.train.size()) + batch - 1) / batch;
    const int64_t total_steps = steps_per_epoch * epochs;
    optim::LinearWarmupCosine sched(opt, std::min<int64_t>(warmup, total_steps / 10 + 1), total_steps, lr * 0.05);
    auto loss_options = xg::CrossEntropyOptions().ignore_index(Vocab::kPad).label_smoothing(smoothing);

    std::mt19937_64 order_rng(static_cast<uint64_t>(seed) + 1);
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    double t95 = -1, t99 = -1, best = 0, tokens = 0, loss_sum = 0;
    int64_t step = 0, loss_n = 0;
    bool stop = false;
    for (int epoch = 1; epoch <= epochs && !stop; ++epoch) {
      std::vector<int64_t> order(sp.train.size());
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), order_rng);
      for (int64_t s = 0; s < static_cast<int64_t>(order.size()) && !stop; s += batch) {
        std::vector<int64_t> idx(order.begin() + s, order.begin() + std::min<int64_t>(s + batch, order.size()));
        Batch b = make_batch(train, idx);
        opt.zero_grad();
        xg::Tensor logits = model(b);
        xg::Tensor loss = xg::cross_entropy(logits.reshape({-1, tv.size()}), b.tgt_out.reshape({-1}), loss_options);
        loss.backward();
        if (clip > 0) nn::utils::clip_grad_norm_(model->parameters(), clip);
        opt.step();
        sched.step();
        ++step;
        tokens += static_cast<double>(b.tgt_tokens);
        loss_sum += loss.item<double>();
        ++loss_n;
        if (step % eval_every == 0) {
          double train_time = elapsed();
          double acc = exact_accuracy(model, valid, tv, sp.chars, cfg.max_len);
          double tok = token_accuracy(model, valid);
          best = std::max(best, acc);
          if (acc >= 0.95 && t95 < 0) t95 = elapsed();
          if (acc >= 0.99 && t99 < 0) t99 = elapsed();
          std::printf("epoch %d step %lld  loss %.4f  lr %.2e  %.0f tok/s  valid exact %.1f%%  token %.1f%%  (%.1f s)\n",
                      epoch, static_cast<long long>(step), loss_sum / loss_n, opt.lr(0), tokens / train_time, 100 * acc,
                      100 * tok, elapsed());
          metrics << step << "," << epoch << "," << elapsed() << "," << loss_sum / loss_n << "," << opt.lr(0) << ","
                  << acc << "," << tok << "\n";
          xg::write_file_atomic((run_dir / "metrics.csv").string(), metrics.str());
          std::fflush(stdout);
          loss_sum = 0, loss_n = 0;
          stop = acc >= target || elapsed() >= time_budget;
        }
      }
    }
    std::vector<std::string> preds;
    double test_acc = exact_accuracy(model, test, tv, sp.chars, cfg.max_len, &preds);
    std::printf("\ntrained %lld steps in %.1f s; time to 95%%: %s, to 99%%: %s\n", static_cast<long long>(step), elapsed(),
                t95 < 0 ? "not reached" : (std::to_string(t95).substr(0, 5) + " s").c_str(),
                t99 < 0 ? "not reached" : (std::to_string(t99).substr(0, 5) + " s").c_str());
    std::printf("test exact-sequence accuracy on %zu held-out examples: %.1f%%\n\n", sp.test.size(), 100 * test_acc);
    model->save((run_dir / "model.npz").string());
    for (size_t i = 0; i < std::min<size_t>(8, sp.test.size()); ++i)
      std::printf("  %-34s -> %-14s %s\n", sp.test[i].src.c_str(), preds[i].c_str(),
                  preds[i] == tv.join(test.tgt[i], sp.chars) ? "ok" : ("(truth " + sp.test[i].tgt + ")").c_str());
    std::printf("\nrun folder %s: config.ini, metrics.csv (one row per validation), model.npz\n", run_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
