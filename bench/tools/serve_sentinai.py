"""`sentinai serve` with uvicorn's log level at warning and no access log.

    .venv/bin/python bench/tools/serve_sentinai.py --host 127.0.0.1 --port 5610

Runs exactly `sentinai.cli.main(["serve", ...])` (migrate check, Runtime, create_app, uvicorn);
the only difference is the uvicorn.Config it builds: `sentinai serve` hard-codes
log_level="info", which writes one access-log line per request. The other servers in the
benchmark run without access logs, so ours does too (run.py --sentinai-launcher cli uses the
plain `.venv/bin/sentinai serve` instead).
"""

import sys

import uvicorn

_config_init = uvicorn.Config.__init__


def _quiet_init(self, *args, **kwargs):
    kwargs["log_level"] = "warning"
    kwargs["access_log"] = False
    _config_init(self, *args, **kwargs)


uvicorn.Config.__init__ = _quiet_init

if __name__ == "__main__":
    from sentinai.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
