# Resolution Tracker service image: migrations, then uvicorn, as a non-root user.
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

COPY pyproject.toml README.md ./
COPY app ./app
COPY adapters ./adapters
COPY alembic ./alembic
RUN pip install -e . && mkdir -p /srv/data && chown rt:rt /srv/data

USER rt
VOLUME ["/srv/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"]

CMD ["sh", "-c", "python -m app migrate && exec python -m app serve"]
