# Resolution Tracker service image: migrations, then uvicorn, as a non-root user.
# The same image runs the scheduler (`python -m app.scheduler`) and one-off migrations
# (`python -m app migrate`): compose.yaml shows all three.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RT_HOST=0.0.0.0 \
    RT_PORT=8000 \
    RT_DATA_DIR=/srv/data \
    RT_AUTO_MIGRATE=false \
    RT_LOG_FORMAT=json

WORKDIR /srv
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin rt

# The dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Editable, so app/db/migrate.py finds alembic/ beside app/ as in a checkout.
COPY README.md ./
COPY app ./app
COPY adapters ./adapters
COPY alembic ./alembic
COPY alembic.ini ./
RUN pip install --no-deps -e . && mkdir -p /srv/data && chown rt:rt /srv/data

USER rt
VOLUME ["/srv/data"]
EXPOSE 8000
# Liveness of the API on the port it really listens on (RT_PORT). The scheduler and the
# migrate job have no API: compose.yaml gives them their own check, or none.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['RT_PORT'], timeout=4)"

CMD ["sh", "-c", "python -m app migrate && exec python -m app serve"]
