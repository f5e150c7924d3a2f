"""curator: integration-testing distribution curator for Python."""

import sysconfig

__version__ = "0.1.0"

# sysconfig fills its configuration on first use, without a lock before Python 3.13: a thread that
# asks while another thread is filling it reads a half-filled dict (`get_config_var("EXE")` gave
# None to uv's `find_uv_bin`, which crashed a run). curator starts threads (probes, resolutions,
# cells, the report's imports), so the configuration is filled here, before any of them.
sysconfig.get_config_vars()
