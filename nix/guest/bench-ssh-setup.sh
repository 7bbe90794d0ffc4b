# bench-ssh-setup.service (before sshd): root logs in only with the per-run key the driver put in
# the shared folder, and the driver pins the host key this unit publishes there. The host key is
# made here (sshd's own key generation then finds it and skips) so it exists before sshd listens.
# Environment (set by vm.nix): SHARED (the 9p share, /tmp/shared), HOST_KEY; SSH_DIR (root's
# ~/.ssh) is only set by tests.
ssh_dir=${SSH_DIR:-/root/.ssh}
if [ -s "$SHARED/authorized_keys" ]; then
  install -d -m 0700 "$ssh_dir"
  install -m 0600 "$SHARED/authorized_keys" "$ssh_dir/authorized_keys"
  echo "bench-ssh-setup: installed $(wc -l < "$ssh_dir/authorized_keys") authorized key(s) for root"
else
  # Not fatal: the console says why SSH refuses, and the driver's error quotes the console.
  echo "bench-ssh-setup: no $SHARED/authorized_keys; root cannot log in (start the VM through server-bench)" >&2
fi

if [ ! -s "$HOST_KEY" ]; then
  install -d -m 0755 "$(dirname "$HOST_KEY")"
  ssh-keygen -q -t ed25519 -N "" -C "server-bench-vm" -f "$HOST_KEY"
fi
# Write then rename, so the driver never reads half a key.
cp "$HOST_KEY.pub" "$SHARED/.host_ed25519_key.pub.tmp"
mv "$SHARED/.host_ed25519_key.pub.tmp" "$SHARED/host_ed25519_key.pub"
echo "bench-ssh-setup: published $(ssh-keygen -l -f "$HOST_KEY.pub")"
