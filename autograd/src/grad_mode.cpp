#include "xgrad/grad_mode.hpp"

namespace xgrad {

namespace {
thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;
thread_local bool inference_enabled = false;
}  // namespace

InferenceMode::InferenceMode(bool enabled) : prev_inference_(inference_enabled), prev_grad_(grad_enabled) {
  inference_enabled = enabled;
  if (enabled) grad_enabled = false;
}
InferenceMode::~InferenceMode() {
  inference_enabled = prev_inference_;
  grad_enabled = prev_grad_;
}
bool InferenceMode::is_enabled() { return inference_enabled; }

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }
bool AnomalyMode::is_enabled() { return anomaly_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_enabled = enabled; }

}  // namespace xgrad
