# parca-agent for one benchmark VM, as data (pure; vm.nix makes the unit and the QEMU forward from
# it, and driver/test/nix-parca.test.ts evaluates it). The unit is in every VM and sends to
# guestAddress:guestPort; who carries that onward: with a Parca server set in nix/parca.nix, the
# VM's own guest-to-host forward (qemu-vm.nix's forwardPorts with from = "guest": a guestfwd, which
# restrict=on still allows) and the unit starts at boot (`enable`); without one, the unit stays
# stopped until `bench --backend vm --parca HOST:PORT` adds a guestfwd at boot and starts it
# (driver/src/vm/parca.ts, whose PARCA_GUEST must equal guestAddress and guestPort).
# nixpkgs has the parca-agent package but no services.parca-agent module, so the unit is written here.
{
  settings,
  exe,
}:
let
  guestAddress = "10.0.2.100";
  guestPort = 7070;
in
{
  enable = settings.host != null;
  forward =
    if settings.host == null then
      null
    else
      {
        from = "guest";
        proto = "tcp";
        guest = {
          address = guestAddress;
          port = guestPort;
        };
        host = {
          address = settings.host;
          port = settings.port;
        };
      };
  args = [
    exe
    "--remote-store-address=${guestAddress}:${toString guestPort}"
  ]
  ++ (if settings.insecure then [ "--remote-store-insecure" ] else [ ])
  ++ settings.extraArgs;
}
