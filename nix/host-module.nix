# nixosModules.server-bench (flake.nix): a real NixOS machine as a `bench --backend hosts` machine of
# one size, with the same units, k6test and /etc/server-bench files as the VMs (nix/bench-units.nix),
# its server and load-generator cores from serverBench.host (nix/host-size.nix) and sshd for the
# driver (keys only; the machine's own authorized keys, not the VMs' per-run key). Import it and set:
#   serverBench.host = { size = "1"; serverCpus = [ 0 ]; generatorCpus = [ 1 ]; };
# then apply it with `nixos-rebuild switch --flake .#NAME --target-host root@HOST` (docs/hosts.md).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.serverBench.host;
in
{
  imports = [ ./bench-units.nix ];

  options.serverBench.host = {
    size = lib.mkOption {
      type = lib.types.enum (builtins.attrNames (import ./sizes.nix));
      description = "The size this machine runs (matrix/sizes.json): its server cores and memory limit.";
    };
    serverCpus = lib.mkOption {
      type = lib.types.listOf lib.types.ints.unsigned;
      description = "The cores the server units get (AllowedCPUs=); as many as the size has vCPUs. The hosts file's serverCpus.";
    };
    generatorCpus = lib.mkOption {
      type = lib.types.listOf lib.types.ints.unsigned;
      description = "The cores the load generator and the redirect map get. The hosts file's generatorCpus.";
    };
  };

  config = {
    serverBench.size = import ./host-size.nix { inherit (cfg) size serverCpus generatorCpus; };

    # The driver logs in with the hosts file's key, pinned to this machine's host key.
    services.openssh = {
      enable = lib.mkDefault true;
      settings = {
        PermitRootLogin = lib.mkDefault "prohibit-password";
        PasswordAuthentication = lib.mkDefault false;
      };
    };

    # bench --backend hosts defaults to wrk; k6 comes with bench-units.nix.
    environment.systemPackages = [ pkgs.wrk ];
  };
}
