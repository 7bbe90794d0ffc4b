// Per-run SSH keys: an ed25519 pair generated for each boot (never a fixed password or a key on
// disk outside the boot's temp folder), the authorized_keys line for the guest, and the host-key
// pin read from the line the guest publishes in the shared folder.
import ssh2 from 'ssh2';
import { InputError } from '../errors.js';

export interface KeyPair {
  /** OpenSSH private key text, for ssh2's privateKey. */
  privateKey: string;
  /** "ssh-ed25519 AAAA… server-bench" */
  authorizedKey: string;
}

/**
 * A fresh ed25519 pair that ssh2 itself can read back. ssh2's generator strips leading zero bytes
 * of the public key, so about 1 pair in 256 is malformed (mscdex/ssh2#1390, #1513); ssh2 then
 * cannot use the private key ("Malformed OpenSSH private key") and a VM run waits for SSH until it
 * times out. Such a pair is drawn again (bounded).
 */
export function generateKeyPair(comment = 'server-bench'): KeyPair {
  for (let attempt = 0; attempt < 16; attempt++) {
    const kp = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (ssh2.utils.parseKey(kp.private) instanceof Error || ssh2.utils.parseKey(kp.public) instanceof Error) continue;
    return { privateKey: kp.private, authorizedKey: `${kp.public.trim()}\n` };
  }
  throw new Error('ssh2 generated 16 malformed ed25519 key pairs in a row');
}

/** The key blob of an OpenSSH public key line ("ssh-ed25519 AAAA… comment"); what ssh2's hostVerifier receives. */
export function publicKeyBlob(line: string): Buffer {
  const parts = line.trim().split(/\s+/);
  const b64 = parts[1];
  if (!parts[0]?.startsWith('ssh-') || !b64 || !/^[A-Za-z0-9+/=]+$/.test(b64)) {
    throw new InputError(`not an OpenSSH public key line: "${line.trim().slice(0, 40)}"`, 'the VM publishes host_ed25519_key.pub in its shared folder');
  }
  return Buffer.from(b64, 'base64');
}
