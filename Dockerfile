# syntax=docker/dockerfile:1.7
# Multi-stage build with two targets:
#   cpu (default): API and CPU worker; torch CPU wheel, onnxruntime (CPU)
#   gpu:           CUDA worker; torch CUDA wheel, onnxruntime-gpu with its CUDA/cuDNN wheels
#   docker build --target cpu -t slimline:cpu .
#   docker build --target gpu -t slimline:gpu .
# The GPU image needs the NVIDIA container runtime on the host (it provides the driver).

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS base
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

FROM base AS build-cpu
# The CPU wheel index keeps CUDA libraries out of the cpu image.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
# the SDK's packages (slimline_client: the `slimline` client commands; slimline_api) install with the server
COPY sdk ./sdk
RUN pip install .

FROM base AS build-gpu
RUN pip install torch==2.13.0
COPY pyproject.toml README.md ./
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
# the SDK's packages (slimline_client: the `slimline` client commands; slimline_api) install with the server
COPY sdk ./sdk
# onnxruntime and onnxruntime-gpu share the module name: never leave both installed.
RUN pip install . && pip uninstall -y onnxruntime && pip install "onnxruntime-gpu[cuda,cudnn]==1.31.1"

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN useradd --create-home --uid 10001 slimline && mkdir -p /data /blobs && chown slimline /data /blobs
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 SLIMLINE_DATA_DIR=/data
WORKDIR /home/slimline
EXPOSE 8000

FROM runtime AS gpu
COPY --from=build-gpu /opt/venv /opt/venv
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER slimline
CMD ["slimline", "worker", "--queues", "gpu"]

# Last stage = default target.
FROM runtime AS cpu
COPY --from=build-cpu /opt/venv /opt/venv
USER slimline
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["slimline", "api", "--host", "0.0.0.0", "--port", "8000"]
