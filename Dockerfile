# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 recur

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/base.txt \
    && pip install --no-deps -r requirements/tokenizer.txt

COPY --chown=recur:recur . .
# collectstatic needs settings that load; these values exist only for this build step.
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-secret-key-not-used-at-runtime-0123456789abcdef \
    python manage.py collectstatic --noinput

USER recur
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS -H "X-Forwarded-Proto: https" http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application", \
     "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--timeout", "60"]
