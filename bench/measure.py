"""What the one-process-per-point benchmark scripts (attention_sweep.py, train_step.py,
generate.py) measure with."""


def status_mb(field):
    """A field of /proc/self/status in MB: "VmRSS:" (resident now) or "VmHWM:" (peak resident)."""
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
    return 0.0


def median(values):
    return sorted(values)[len(values) // 2]
