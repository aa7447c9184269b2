"""A fidelity harness for identification: one CI per real thing, through churn and overlapping sources.

    python -m bench.fidelity                 # ~2,300 real things, 10 rounds
    python -m bench.fidelity --scale 0.3     # a quicker look

See ``docs/benchmarks/fidelity.md``. The ground truth (``truth``, ``churn``) is
built here, independently of the engine; the sources render the payloads the
real scanners receive and run them through the scanners' own pure transforms.
"""

import warnings

# asyncssh (imported by the SSH scanner) touches cryptography's deprecated DSA classes at import:
# noise in a benchmark's output, not a finding.
warnings.filterwarnings("ignore", message="DSA is deprecated")
