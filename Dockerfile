# One image for the provider (`c2d serve`) and the trusted steps (`python -m steps.configure`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
RUN python -m venv /opt/c2d && /opt/c2d/bin/pip install --no-cache-dir -r requirements.lock
COPY provider ./provider
COPY workflows ./workflows
COPY steps ./steps
RUN /opt/c2d/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --uid 1000 --create-home c2d
COPY --from=build /opt/c2d /opt/c2d
ENV PATH=/opt/c2d/bin:$PATH
USER 1000
ENTRYPOINT ["c2d"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
