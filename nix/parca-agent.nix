# parca-agent for one benchmark VM, as data (pure; vm.nix makes the unit and the QEMU forward from
# it, and driver/test/nix.test.ts evaluates it): null when no Parca server is set in nix/parca.nix,
# else the guest-to-host forward (qemu-vm.nix's forwardPorts with from = "guest": a guestfwd, which
# restrict=on still allows) and parca-agent's command line. nixpkgs has the parca-agent package but
# no services.parca-agent module, so the unit is written here.
{
  settings,
  exe,
}:
let
  guestAddress = "10.0.2.100";
  guestPort = 7070;
in
if settings.host == null then
  null
else
  {
    forward = {
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
