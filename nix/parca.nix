# Parca's agent in the benchmark VMs, off by default. To send every VM's on-CPU profiles to a
# Parca server, as the blog this project follows did, set `host` to that server's address as the
# host machine reaches it (e.g. "127.0.0.1" for a Parca started on this machine) and rebuild.
# The guest has no network of its own (restrictNetwork): QEMU forwards one guest address to it
# (nix/parca-agent.nix). nix/README.md says more.
{
  host = null;
  port = 7070;
  # Plaintext gRPC (--remote-store-insecure): right for a Parca on loopback; false for TLS.
  insecure = true;
  # Further parca-agent flags, e.g. [ "--remote-store-bearer-token-file=/run/parca-token" ].
  extraArgs = [ ];
}
