# supportgate: slim Python base, non-root user, healthcheck; `supportgate serve` migrates then serves.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SUPPORTGATE_DATABASE_URL=sqlite:////data/supportgate.db

RUN useradd --create-home --uid 10001 supportgate && mkdir /data && chown supportgate /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
# Editable install keeps migrations/ beside the package, where the service looks for them.
RUN pip install --editable .

USER supportgate
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["supportgate"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
