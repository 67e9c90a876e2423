# The platform's Airflow image: every Airflow service in docker-compose.yml runs it.
#
# The tag is the exact apache-airflow version requirements.txt pins, on Python
# 3.11 (tests/test_docker_compose.py keeps the two equal).
FROM apache/airflow:3.3.2-python3.11

# The project lives at /opt/deltran: deltran.config.PROJECT_ROOT is the folder
# above the deltran package, and dags/, plugins/ and dbt/ are found next to it
# (docker-compose.yml mounts those three over the copies baked in here, and a
# volume on var/). Group 0 and group-writable, as the official image does, so
# the containers can run as any UID in group 0 (AIRFLOW_UID).
ENV DELTRAN_HOME=/opt/deltran
USER root
RUN mkdir -p /opt/deltran/var /opt/airflow/auth \
 && chown -R airflow:0 /opt/deltran /opt/airflow/auth \
 && chmod -R g+rwX /opt/deltran /opt/airflow/auth
USER airflow

# Dependencies first (their own layer, rebuilt only when requirements.txt changes).
# Airflow's constraints approach, step two: the image already holds Airflow
# installed reproducibly WITH its constraints file (~/constraints.txt in the
# image); extra packages are then installed WITHOUT it, since they may
# legitimately differ from it (requirements.txt is this project's tested set,
# not Airflow's), with "apache-airflow==<the image's version>" named on the same
# command so pip can never upgrade or downgrade Airflow while resolving them.
# A requirements.txt pin that differs from the image's Airflow fails here, loudly.
COPY --chown=airflow:0 requirements.txt /opt/deltran/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/deltran/requirements.txt

# The project itself, editable so PROJECT_ROOT stays /opt/deltran (see above);
# --no-deps: everything it needs came from requirements.txt.
COPY --chown=airflow:0 . /opt/deltran
RUN pip install --no-cache-dir --no-deps -e /opt/deltran

WORKDIR /opt/deltran
