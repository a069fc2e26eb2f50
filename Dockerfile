# exchanged on Debian 12, built with the project's own scripts, running as an unprivileged user.
# The WAL uses io_uring, which Docker's default seccomp profile blocks since Docker 25: run with
# --security-opt seccomp=unconfined or a profile that allows io_uring_* (docs/operations.md).
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl

FROM debian:bookworm
# The shared libraries the binaries link (`ldd build/bin/exchanged`, `dpkg -S` each). SQLite and
# libpq join them when the store is built.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends liburing2 libinih1 libspdlog1.10 libfmt9 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/exchanged --create-home exchanged
COPY --from=build /src/build/bin/exchanged /src/build/bin/exchangectl /usr/local/bin/
COPY --from=build /src/config /etc/exchanged
USER exchanged
VOLUME /var/lib/exchanged
EXPOSE 9100
# A TCP connect to the gateway with bash's /dev/tcp (no extra package). Each check shows in the
# log as one closed session. The start period covers a long WAL replay.
HEALTHCHECK --interval=60s --timeout=5s --start-period=10m --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100"]
ENTRYPOINT ["/usr/local/bin/exchanged", "--config", "/etc/exchanged/standard.ini", \
            "--data-dir", "/var/lib/exchanged", "--listen", "0.0.0.0:9100"]
