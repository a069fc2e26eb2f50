# exchanged on Debian 12, built with the project's own scripts, running as an unprivileged user.
# The WAL uses io_uring, which Docker's default seccomp profile blocks since Docker 25: run with
# --security-opt seccomp=unconfined or a profile that allows io_uring_* (docs/operations.md).
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl

FROM debian:bookworm
# The shared libraries the binaries link (`ldd build/bin/exchanged`, `dpkg -S` each).
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends liburing2 libinih1 libspdlog1.10 libfmt9 \
        libsqlite3-0 libpq5 libhiredis0.14 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/exchanged --create-home exchanged
COPY --from=build /src/build/bin/exchanged /src/build/bin/exchangectl /usr/local/bin/
COPY --from=build /src/config /etc/exchanged
USER exchanged
VOLUME /var/lib/exchanged
EXPOSE 9100
# GET /health on the admin endpoint (loopback inside the container) with bash's /dev/tcp: 503 when
# the WAL failed or the store is down. The start period covers a long recovery.
HEALTHCHECK --interval=60s --timeout=5s --start-period=10m --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9101 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/exchanged", "--config", "/etc/exchanged/standard.ini", \
            "--data-dir", "/var/lib/exchanged", "--listen", "0.0.0.0:9100"]
