# Ferry's one image: the portal (gunicorn), its migrations, and localglobus.
# The code runs from /srv/ferry as in development (an editable install), so that the portal
# finds templates/, static/ and migrations/ beside app/.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 ferry
WORKDIR /srv/ferry

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY localglobus ./localglobus
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN pip install -e . \
    && mkdir -p instance /data/localglobus \
    && chown -R ferry:ferry instance /data

USER ferry
EXPOSE 5000 8765

# Behind a reverse proxy, raise --workers and put the proxy's address in --forwarded-allow-ips.
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "3", "--access-logfile", "-", "app:create_app()"]
