# The implementations inside the VM, as data: one entry per systemd unit (name, command,
# environment, ports, metric prefix). vm.nix turns each entry into a unit and writes the same data
# to /etc/server-bench/impls.json for k6test, so neither side has per-implementation code paths.
# Pure (builtins only): tests evaluate it with stand-in package paths.
{
  # Executables: { tsherve; tsherve-bun; gosherve; gosherve-old; nginx; } (store paths or stand-ins).
  packages,
  # The size record from nix/sizes.nix.
  size,
  # Guest-local webroot, the loopback map URL and the nginx reference configuration file.
  webroot,
  mapUrl,
  nginxConf,
}:
let
  # As the local backend (driver/src/impls.ts): gosherve runs as shipped, logging every request at
  # info. Under systemd those lines go to journald, as they did in the original post's VM.
  gosherveEnv = {
    GOSHERVE_WEBROOT = webroot;
    GOSHERVE_REDIRECT_MAP_URL = mapUrl;
    GOSHERVE_LOG_LEVEL = "info";
  };
  mkGosherve = name: package: description: {
    inherit name description;
    unit = "bench-${name}";
    reference = false;
    command = [ "${package}/bin/gosherve" ];
    environment = gosherveEnv;
    sitePort = 8080;
    metricsPort = 8081;
    metricPrefix = "gosherve_";
    # Go has no JIT: W^X mappings are enforceable.
    memoryDenyWriteExecute = true;
  };
in
{
  tsherve = {
    name = "tsherve";
    description = "tsherve, the TypeScript server of this repository";
    unit = "bench-tsherve";
    reference = false;
    command = [ "${packages.tsherve}/bin/tsherve" ];
    environment = {
      TSHERVE_WEBROOT = webroot;
      TSHERVE_REDIRECT_MAP_URL = mapUrl;
      TSHERVE_HOST = "127.0.0.1";
      TSHERVE_PORT = "8080";
      TSHERVE_METRICS_PORT = "8081";
      TSHERVE_LOG_LEVEL = "info"; # tsherve logs requests only at debug
      TSHERVE_WORKERS = toString size.cpus; # one worker per server core
    };
    sitePort = 8080;
    metricsPort = 8081;
    metricPrefix = "tsherve_";
    # V8's JIT writes then executes code pages: MemoryDenyWriteExecute would kill Node.
    memoryDenyWriteExecute = false;
  };
  # tsherve on Bun (issue 17): the same settings as tsherve; Bun.serve, worker processes sharing
  # the port with SO_REUSEPORT.
  tsherve-bun = {
    name = "tsherve-bun";
    description = "tsherve on Bun (Bun.serve, in-memory site)";
    unit = "bench-tsherve-bun";
    reference = false;
    command = [ "${packages.tsherve-bun}/bin/tsherve-bun" ];
    environment = {
      TSHERVE_WEBROOT = webroot;
      TSHERVE_REDIRECT_MAP_URL = mapUrl;
      TSHERVE_HOST = "127.0.0.1";
      TSHERVE_PORT = "8080";
      TSHERVE_METRICS_PORT = "8081";
      TSHERVE_LOG_LEVEL = "info";
      TSHERVE_WORKERS = toString size.cpus;
      TSHERVE_RUNTIME = "bun";
    };
    sitePort = 8080;
    metricsPort = 8081;
    metricPrefix = "tsherve_";
    # JavaScriptCore's JIT, like V8's, writes then executes code pages.
    memoryDenyWriteExecute = false;
  };
  gosherve = mkGosherve "gosherve" packages.gosherve "gosherve v0.3.5 (files first, streamed)";
  gosherve-old =
    mkGosherve "gosherve-old" packages.gosherve-old
      "gosherve v0.3.3 (map refresh per file request)";
  nginx = {
    name = "nginx";
    description = "nginx reference: one worker, sendfile, access log off";
    unit = "bench-nginx";
    reference = true;
    # -e: the log nginx opens before it has read the configuration (default: a path under /var).
    command = [
      "${packages.nginx}/bin/nginx"
      "-e"
      "stderr"
      "-c"
      "${nginxConf}"
    ];
    environment = { };
    sitePort = 8080;
    metricsPort = null;
    metricPrefix = null;
    memoryDenyWriteExecute = true;
  };
}
