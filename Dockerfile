# syntax=docker/dockerfile:1
# carehouse: one image for the Dagster webserver and the Dagster daemon.
#   docker build -t carehouse .        (or: docker compose build)
FROM python:3.11-slim

# CAREHOUSE_HOME holds the landing zone, dlt state, dbt target and Dagster storage.
# DAGSTER_HOME must equal $CAREHOUSE_HOME/dagster: warehouse.settings.Settings.dagster_home.
# (Written out, not as ${CAREHOUSE_HOME}/dagster: a variable set in an ENV instruction is
# not visible to the other assignments of that same instruction.)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    CAREHOUSE_HOME=/var/lib/carehouse \
    DAGSTER_HOME=/var/lib/carehouse/dagster

# Unprivileged runtime user; its home is the carehouse home, so ~/.dlt and ~/.dbt are writable.
RUN groupadd --system --gid 10001 carehouse \
 && useradd --system --uid 10001 --gid carehouse --home-dir /var/lib/carehouse \
        --no-create-home --shell /usr/sbin/nologin carehouse \
 && mkdir -p /var/lib/carehouse/dagster /var/lib/carehouse/landing /opt/dagster \
 && chown -R carehouse:carehouse /var/lib/carehouse

WORKDIR /opt/carehouse

# Dependencies in their own layer, so editing our code does not reinstall dagster, dbt and
# dlt: install the project once with empty stand-in packages, then drop the stand-in.
COPY pyproject.toml README.md ./
RUN mkdir -p warehouse ingestion orchestration \
 && touch warehouse/__init__.py ingestion/__init__.py orchestration/__init__.py \
 && pip install . \
 && pip uninstall -y carehouse \
 && rm -rf warehouse ingestion orchestration build ./*.egg-info

# The whole source tree stays in /opt/carehouse: dbt_project/ and seeds/ are not Python
# packages, and the code location is loaded with this directory as its working directory.
COPY . .
RUN pip install --no-deps . \
 && rm -rf build ./*.egg-info \
 && if [ -d dbt_project ]; then chown -R carehouse:carehouse dbt_project; fi

COPY docker/workspace.yaml /opt/dagster/workspace.yaml
COPY --chown=carehouse:carehouse docker/dagster.yaml /var/lib/carehouse/dagster/dagster.yaml

USER carehouse
EXPOSE 3000
VOLUME ["/var/lib/carehouse"]

# The webserver by default; docker-compose.yml runs the daemon from this image as well.
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "/opt/dagster/workspace.yaml"]
