# One image for the provider (`c2d serve`) and the trusted steps (`python -m steps.configure`,
# `python -m steps.publish`). Build: `make image`. Python matches requires-python (3.11).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the locked dependencies and c2d itself -----------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Where pip looks, when not PyPI: e.g. `--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels`
# with a folder of wheels mounted there, as the offline build of tests/image does.
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
RUN python -m venv --without-pip /opt/c2d
COPY requirements.lock ./
RUN python -m pip --python /opt/c2d/bin/python install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY provider ./provider
COPY workflows ./workflows
COPY steps ./steps
RUN python -m pip --python /opt/c2d/bin/python install --no-deps . \
    && /opt/c2d/bin/python -m compileall -q /opt/c2d

# --- run: the virtualenv on a slim Python, no pip, no compilers, uid 1000 ------------------------
FROM ${PYTHON_IMAGE}
RUN python -m pip uninstall -y -q pip setuptools wheel 2>/dev/null; \
    useradd --uid 1000 --user-group --no-create-home --home-dir /tmp c2d
COPY --from=build /opt/c2d /opt/c2d
ENV PATH=/opt/c2d/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["c2d"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
