# Ubuntu 22.04 "jammy": OpenSSH 8.9p1 with Ubuntu's patches and stock sshd_config, PAM
# (common-auth's pam_unix). Not measured on these machines (no Ubuntu host or registry): the
# lists are OpenSSH 8.9p1's defaults (server-sig-algs taken as 9.2p1's), the delays those of the
# same sshd and pam_unix mechanism as on Debian. docs/stealth.md says how to check it where an
# Ubuntu host exists.
name                 ubuntu-22.04
os-id                ubuntu
os-version-id        22.04
openssh              8.9p1
# 1:8.9p1-3ubuntu0.13 gives OpenSSH_8.9p1 Ubuntu-3ubuntu0.13.
banner               OpenSSH_{upstream} Ubuntu-{revision}
# OpenSSH 8.9p1 still lists sntrup761x25519 after the ECDH methods (9.0 moved it first).
kex                  curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,sntrup761x25519-sha512@openssh.com,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
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
