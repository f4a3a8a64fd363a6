# Debian 12 "bookworm": OpenSSH 9.2p1 with Debian's patches and stock sshd_config, PAM
# (common-auth's pam_unix). Measured against the distribution's own sshd on Debian 12
# (tests/integration/test_stealth_wire.py compares it live); docs/stealth.md says how.
name                 debian-12
os-id                debian
os-version-id        12
openssh              9.2p1
# "SSH-2.0-" then this; {upstream} and {revision} are the parts of the image's openssh-server
# version (1:9.2p1-2+deb12u10 gives OpenSSH_9.2p1 Debian-2+deb12u10).
banner               OpenSSH_{upstream} Debian-{revision}
# OpenSSH 9.2p1's server lists in its order (Debian's package offers sntrup761x25519-sha512 under
# both names); libssh lacks sntrup761x25519 and the umac MACs and leaves them out of what it sends.
# Both add kex-strict-s-v00@openssh.com.
kex                  sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
# The host keys Debian's postinst makes (rsa, ecdsa, ed25519), in sshd_config's HostKey order.
host-key-algorithms  rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519
ciphers              chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
macs                 umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
# sshd_config: KbdInteractiveAuthentication no.
auth-methods         publickey,password
# OpenSSH's EXT_INFO server-sig-algs (what it accepts for a user's key), in its order; libssh
# leaves out what it lacks.
server-sig-algs      ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-512
# How late a refusal comes. pam_unix asks for 2 s; Linux-PAM makes it 2 s x (0.5 + the mean of
# three draws seeded by the second). sshd then pads every failure to a floor of its own for the
# user name (5 ms plus up to 4.29 ms, from a hash of the name and a host secret), doubled until it
# covers the time spent: a wrong password is answered after the floor x 256 or x 512 (1.3-4.8 s),
# a refused key or "none" after the floor (or twice it).
pam-fail-delay-ms    2000
fail-floor-us        5000 9294
