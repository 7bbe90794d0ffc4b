# The implementations inside the VM, read from matrix/impls.json (the single source the driver's
# registry, driver/src/run/matrix-files.ts, reads too): one entry per systemd unit (name, command,
# environment, ports, metric prefix). vm.nix turns each entry into a unit and writes the same data
# to /etc/server-bench/impls.json for k6test, so neither side has per-implementation code paths.
# Pure (builtins only): tests evaluate it with stand-in package paths.
{
  # Executables by the JSON's unit.package: { tsherve; gosherve; gosherve-old; nginx; }
  # (store paths or stand-ins).
  packages,
  # The size record from nix/sizes.nix.
  size,
  # Guest-local webroot, the loopback map URL and the nginx reference configuration file.
  webroot,
  mapUrl,
  nginxConf,
  # The address tsherve binds in the guest (k6 runs there too).
  host ? "127.0.0.1",
}:
let
  file = builtins.fromJSON (builtins.readFile ../matrix/impls.json);

  # @name@ placeholders of matrix/impls.json (its README lists them); ports are the entry's own.
  # A server without a metrics port leaves @metricsPort@ unfilled, and so an error below.
  fill =
    impl: text:
    let
      port = impl.metricsPort;
      values = {
        inherit webroot mapUrl host;
        nginxConf = toString nginxConf;
        cpus = toString size.cpus;
        sitePort = toString impl.sitePort;
        metricsPort = if port == null then "@metricsPort@" else toString port;
      };
      names = builtins.attrNames values;
      filled = builtins.replaceStrings (map (n: "@${n}@") names) (map (n: values.${n}) names) text;
      unfilled = "matrix/impls.json: ${impl.name}: \"${text}\" keeps a placeholder with no value here";
    in
    if builtins.match ".*@[A-Za-z]+@.*" filled == null then
      filled
    else
      throw "${unfilled}; use one nix/impls.nix fills";

  mkImpl =
    impl:
    let
      executable = "${packages.${impl.unit.package}}/${impl.unit.executable}";
    in
    {
      inherit (impl)
        name
        description
        reference
        sitePort
        metricsPort
        metricPrefix
        ;
      unit = impl.unit.name;
      command = [ executable ] ++ map (fill impl) impl.unit.args;
      environment = builtins.mapAttrs (_: fill impl) impl.environment;
      # false where a JIT writes then executes code pages (V8): the unit would kill Node.
      inherit (impl.unit) memoryDenyWriteExecute;
    };
in
builtins.listToAttrs (
  map (impl: {
    inherit (impl) name;
    value = mkImpl impl;
  }) file.impls
)
