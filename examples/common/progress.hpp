#pragma once
// Training progress for the examples: a live bar redrawn in place on a terminal; plain periodic
// lines when stdout is a file or a pipe (logs, CI), so logs stay readable.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace xgrad::examples {

inline std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

class Progress {
 public:
  // plain_every: seconds between lines when not on a terminal.
  explicit Progress(double plain_every = 10.0) : plain_every_(plain_every) {
    const char* term = std::getenv("TERM");
    tty_ = ::isatty(::fileno(stdout)) && !(term && std::strcmp(term, "dumb") == 0);
  }
  bool tty() const { return tty_; }

  // Called after every step. fraction: of the whole run done (for the bar and the ETA).
  void update(int epoch, int epochs, int64_t step, int64_t steps_per_epoch, int64_t step_in_epoch, double loss,
              double lr, double tokens_per_s, double elapsed, double fraction) {
    const bool due = tty_ ? elapsed - last_ >= 0.1 : elapsed - last_ >= plain_every_;
    if (!due) return;
    last_ = elapsed;
    fraction = std::clamp(fraction, 1e-9, 1.0);
    const std::string eta = format_duration(elapsed / fraction - elapsed);
    char stats[200];
    std::snprintf(stats, sizeof stats, "loss %.4f  lr %.2e  %.0f tok/s  %s elapsed  ETA %s", loss, lr, tokens_per_s,
                  format_duration(elapsed).c_str(), eta.c_str());
    if (tty_) {
      const int width = 24, filled = static_cast<int>(std::lround(width * static_cast<double>(step_in_epoch) /
                                                                    std::max<int64_t>(steps_per_epoch, 1)));
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(width, '.');
      std::printf("\r\033[Kepoch %d/%d [%s] %lld/%lld  %s", epoch, epochs, bar.c_str(),
                  static_cast<long long>(step_in_epoch), static_cast<long long>(steps_per_epoch), stats);
      drawn_ = true;
    } else {
      std::printf("epoch %d/%d step %lld (%lld/%lld)  %s\n", epoch, epochs, static_cast<long long>(step),
                  static_cast<long long>(step_in_epoch), static_cast<long long>(steps_per_epoch), stats);
    }
    std::fflush(stdout);
  }

  // A line of its own (an evaluation, a message): clears the bar first; it is redrawn next step.
  void print(const std::string& line) {
    clear();
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (tty_) last_ = -1e9;  // redraw the bar at once
  }
  void clear() {
    if (drawn_) std::printf("\r\033[K");
    drawn_ = false;
  }

 private:
  bool tty_ = false, drawn_ = false;
  double plain_every_, last_ = -1e9;
};

}  // namespace xgrad::examples
