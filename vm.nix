# One NixOS benchmark VM, parameterised by a size from nix/sizes.nix (data: matrix/sizes.json;
# flake.nix builds one per size): qemu-vm imported, headless, no network beyond the SSH forward the
# driver asks for at boot, the per-run SSH key; the benchmark itself (one hardened systemd unit per
# implementation, the site, the redirect map, k6test) is nix/bench-units.nix, which real NixOS
# machines import too (nix/host-module.nix). The driver <-> VM contract is nix/README.md.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.serverBench;
  size = cfg.size;

  # The guest's fixed facts (matrix/guest.json; nix/bench-units.nix uses the rest of it).
  guest = lib.importJSON ./matrix/guest.json;
  shared = guest.paths.shared;

  # Parca's agent (nix/parca.nix via serverBench.parcaAgent): its unit in every VM, started at boot
  # only when a server is set there; else by `bench --backend vm --parca HOST:PORT`.
  parca = import ./nix/parca-agent.nix {
    settings = cfg.parcaAgent;
    exe = lib.getExe pkgs.parca-agent;
  };

  shellApp =
    name: runtimeInputs: file:
    pkgs.writeShellApplication {
      inherit name runtimeInputs;
      text = builtins.readFile file;
    };
  sshSetupScript = shellApp "bench-ssh-setup" [
    pkgs.coreutils
    pkgs.openssh
  ] ./nix/guest/bench-ssh-setup.sh;

in
{
  imports = [
    "${modulesPath}/virtualisation/qemu-vm.nix"
    ./nix/bench-units.nix
  ];

  options.serverBench = {
    parcaAgent = lib.mkOption {
      type = lib.types.attrs;
      default = import ./nix/parca.nix;
      description = "Parca agent settings (nix/parca.nix): host = null (off) or the Parca server's address as the host reaches it, port, insecure, extraArgs.";
    };
  };

  config = {
    assertions =
      let
        where = "server-bench VM bench-${toString (size.name or "?")}";
        missing = lib.filter (p: !(cfg.packages ? ${p})) [
          "tsherve"
          "tsherve-bun"
          "gosherve"
          "gosherve-old"
          "servy"
          "k6test"
          "site"
        ];
      in
      [
        {
          assertion = size.cpus >= 1;
          message = "${where}: cpus must be at least 1 (got ${toString size.cpus}); fix matrix/sizes.json.";
        }
        {
          assertion = size.memoryMiB >= 256;
          message = "${where}: memoryMiB must be at least 256 (got ${toString size.memoryMiB}): below that no server under test fits beside the site; fix matrix/sizes.json.";
        }
        {
          assertion = size.loadgenCpus >= 1;
          message = "${where}: loadgenCpus must be at least 1 (got ${toString size.loadgenCpus}): k6 needs a vCPU of its own for the default dedicated placement; fix matrix/sizes.json.";
        }
        {
          assertion =
            size.vmCores == size.cpus + size.loadgenCpus
            && builtins.length size.serverCpuList == size.cpus
            && builtins.length size.loadgenCpuList == size.loadgenCpus;
          message = "${where}: vmCores, serverCpuList and loadgenCpuList disagree with cpus + loadgenCpus; pass a record from nix/sizes.nix.";
        }
        {
          assertion = size.vus >= 1;
          message = "${where}: vus must be at least 1 (got ${toString size.vus}).";
        }
        {
          assertion = missing == [ ];
          message = "${where}: serverBench.packages lacks ${lib.concatStringsSep ", " missing}; flake.nix passes them.";
        }
        {
          assertion = !config.networking.nftables.enable;
          message = "${where}: the loopback NOTRACK rules in vm.nix are iptables commands; keep networking.nftables.enable = false or port them.";
        }
      ];

    networking.hostName = "bench-${size.name}";
    system.stateVersion = "25.05";

    virtualisation = {
      cores = size.vmCores;
      memorySize = size.vmMemoryMiB;
      diskSize = size.diskSizeMiB;
      # Serial console on the runner's stdio: the driver logs it; no display needed.
      graphics = false;
      # The disk image stays the module's default (./bench-<size>.qcow2 in the caller's directory)
      # for hand use; the driver always passes a fresh NIX_DISK_IMAGE so no state leaks between runs.
      # No fixed forward: the driver adds hostfwd=tcp:127.0.0.1:<free port>-:22 via QEMU_NET_OPTS.
      # With nix/parca.nix set, one guest-to-host forward reaches the Parca server.
      forwardPorts = lib.optional (parca.forward != null) parca.forward;
      # The guest reaches neither the host nor the internet (but for that forward); a run needs neither.
      restrictNetwork = true;
    };

    # Small and quick to boot: no Nix daemon, no docs, no password anywhere.
    nix.enable = false;
    documentation.enable = false;
    users.mutableUsers = false;
    users.users.root.hashedPassword = "!";
    # Root's only way in is the per-run key installed at boot, which NixOS cannot see at build time;
    # without this its "no password and no key" lock-out assertion would stop the build.
    users.allowNoPasswordLogin = true;

    networking.firewall = {
      enable = true;
      allowedTCPPorts = [ 22 ];
      # k6 talks to the server over loopback: keep that traffic out of conntrack, which the
      # firewall would otherwise load for it (the original ran without a firewall at all).
      extraCommands = ''
        iptables -w -t raw -D PREROUTING -i lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -D OUTPUT -o lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -I PREROUTING -i lo -j CT --notrack
        iptables -w -t raw -I OUTPUT -o lo -j CT --notrack
      '';
      extraStopCommands = ''
        iptables -w -t raw -D PREROUTING -i lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -D OUTPUT -o lo -j CT --notrack 2>/dev/null || true
      '';
    };

    services.openssh = {
      enable = true;
      openFirewall = false; # the firewall above opens 22 and nothing else
      # One ed25519 host key, made by bench-ssh-setup and pinned by the driver.
      hostKeys = [
        {
          type = "ed25519";
          path = guest.paths.hostKey;
        }
      ];
      settings = {
        PermitRootLogin = "prohibit-password";
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
      };
    };

    systemd.services = {
      # It reads every process's stacks through eBPF: root with CAP_BPF and CAP_SYS_ADMIN (as the
      # NixOS test for Parca in jpds/nixpkgs, nixos/tests/parca.nix, runs it).
      parca-agent = {
        description = "Parca agent: on-CPU profiles of the whole VM to the Parca server (nix/parca.nix or bench --parca)";
        wantedBy = lib.optional parca.enable "multi-user.target";
        serviceConfig = {
          ExecStart = lib.escapeShellArgs parca.args;
          User = "root";
          AmbientCapabilities = [
            "CAP_BPF"
            "CAP_SYS_ADMIN"
          ];
          Restart = "on-failure";
          RestartSec = 10;
        };
      };

      bench-ssh-setup = {
        description = "server-bench: install the per-run SSH key, publish the host key";
        wantedBy = [ "sshd.service" ];
        before = [
          "sshd.service"
          "sshd-keygen.service"
        ];
        unitConfig.RequiresMountsFor = [ shared ];
        environment = {
          SHARED = shared;
          HOST_KEY = guest.paths.hostKey;
        };
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = lib.getExe sshSetupScript;
        };
      };
    };

    # gosherve and servy log every request at info (as shipped); bound what that costs on disk.
    services.journald.extraConfig = ''
      SystemMaxUse=256M
    '';
  };
}
