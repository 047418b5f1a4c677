# SentinAI API image: `sentinai serve` by default; `sentinai db upgrade`, `sentinai tenant …` etc. as commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SENTINAI_DATA_DIR=/var/lib/sentinai

RUN groupadd --system --gid 10001 sentinai \
    && useradd --system --uid 10001 --gid sentinai --home-dir /home/sentinai --create-home sentinai \
    && install -d -o sentinai -g sentinai -m 0700 /var/lib/sentinai

WORKDIR /app

# Only what the package needs at run time: the source and the migrations beside it.
# The install is editable because the migrations are read from /app/alembic, next to
# /app/src (PROJECT_ROOT in src/sentinai/db/migrations.py); a wheel would not carry them.
COPY pyproject.toml alembic.ini README* ./
COPY alembic ./alembic
COPY src ./src
RUN pip install -e .
# GraphiQL's browser files, from the npm registry and checked against the pinned hashes, into
# /usr/local/share/sentinai-assets (the page is off under SENTINAI_ENV=production all the same).
RUN sentinai install-assets

USER sentinai

EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["sentinai"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
