// Whether a booted guest runs emulated: the guest's own `systemd-detect-virt` is the truth ("qemu"
// = TCG, "kvm" = hardware virtualisation). Opening /dev/kvm on the host only says KVM might work:
// QEMU falls back to TCG when it does not, and a paravirtual /dev/kvm can refuse stock kernels.

/** The guest's answer decides; without one (tool missing, "none", other hypervisors) the host's guess stands. */
export function guestEmulated(virt: string | null, hostGuess: boolean): boolean {
  if (virt === 'qemu') return true;
  if (virt === 'kvm') return false;
  return hostGuess;
}

/** One progress line when the guest contradicts the host's guess, else null. */
export function virtNote(virt: string | null, hostGuess: boolean): string | null {
  const emulated = guestEmulated(virt, hostGuess);
  if (emulated === hostGuess) return null;
  return emulated
    ? 'the guest runs under TCG emulation (systemd-detect-virt: qemu) although /dev/kvm opened: every number is marked emulated'
    : 'the guest runs under KVM (systemd-detect-virt: kvm): numbers are not marked emulated';
}
