#!/usr/bin/python3
"""Dates the target image as a server installed at INSTALLED (seconds since the epoch), weeks
before its build (docs/stealth.md, "The image's dates").

Run as the build's last step, inside the image. Everything the build wrote carries the build's
time: dpkg's and apt's logs, the package database, /etc/passwd, the home directories. A server
installed weeks ago says so in all of them, and the box's log history (whose wtmp begins at the
install that dpkg's log records) must agree. So every timestamp later than INSTALLED - the
logs' lines and the files' modification times - moves back by one shift that puts the earliest
of them (the first line of dpkg's log) at INSTALLED, keeping the order and the gaps between
them. What is older (a registry base's own build, a package's files) stays. The bait files are
dated within the weeks after the install, and the web log's lines with them.

Usage: age-image.py INSTALLED
"""

import calendar
import os
import re
import sys
import time

STAMP = re.compile(rb"(\d{4}-\d\d-\d\d)( {1,2})(\d\d:\d\d:\d\d)")
LOGS = ("/var/log/dpkg.log", "/var/log/alternatives.log", "/var/log/apt/history.log",
        "/var/log/apt/term.log")
CLF = re.compile(rb"\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) \+0000\]")
MONTHS = [calendar.month_abbr[i].encode() for i in range(13)]
DAY = 86400
# The bait (images/ubuntu/rootfs): when the admin set each up after the install.
BAIT = {"/etc/config/app.env": 2 * DAY + 5 * 3600 + 731,
        "/etc/config": 2 * DAY + 5 * 3600 + 731,
        "/root/.ssh/config": 2 * DAY + 5 * 3600 + 1013,
        "/home/admin/.bash_history": 36 * DAY + 9 * 3600 + 1490}
ACCESS_LOG = "/var/log/access.log"
ACCESS_LOG_END = 40 * DAY + 6 * 3600 + 2117


def stamp_of(m):
    return calendar.timegm(time.strptime(m.group(1).decode() + " " + m.group(3).decode(),
                                         "%Y-%m-%d %H:%M:%S"))


def shifted(m, shift, after):
    t = stamp_of(m)
    if t <= after:
        return m.group(0)
    return time.strftime("%Y-%m-%d", time.gmtime(t + shift)).encode() + m.group(2) + \
        time.strftime("%H:%M:%S", time.gmtime(t + shift)).encode()


def first_after(path, after):
    try:
        with open(path, "rb") as f:
            for line in f:
                m = STAMP.match(line)
                if m and stamp_of(m) > after:
                    return stamp_of(m)
    except OSError:
        pass
    return None


def rewrite(path, fn):
    """Replaces path's content by fn(content), keeping its mode, owner and times."""
    try:
        st = os.lstat(path)
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    new = fn(data)
    if new != data:
        with open(path, "wb") as f:
            f.write(new)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def mount_points():
    points = set()
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            points.add(line.split()[4].decode(errors="replace"))
    points.discard("/")
    return points


def move_times(shift, after):
    root_dev = os.lstat("/").st_dev
    skip = mount_points()
    for top, dirs, files in os.walk("/", topdown=True):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
        for name in dirs + files:
            path = os.path.join(top, name)
            if path in skip:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_dev != root_dev or st.st_mtime <= after:
                continue
            mtime = st.st_mtime_ns + shift * 10**9
            atime = st.st_atime_ns + shift * 10**9 if st.st_atime > after else st.st_atime_ns
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)
    # The root directory itself.
    st = os.lstat("/")
    if st.st_mtime > after:
        os.utime("/", ns=(st.st_atime_ns + shift * 10**9, st.st_mtime_ns + shift * 10**9))


def clf_time(m):
    return calendar.timegm((int(m.group(3)), MONTHS.index(m.group(2)), int(m.group(1)),
                            int(m.group(4)), int(m.group(5)), int(m.group(6))))


def date_access_log(end):
    def fn(data):
        stamps = [clf_time(m) for m in CLF.finditer(data)]
        if not stamps:
            return data
        shift = end - max(stamps)

        def one(m):
            g = time.gmtime(clf_time(m) + shift)
            return b"[%02d/%s/%04d:%02d:%02d:%02d +0000]" % (
                g.tm_mday, MONTHS[g.tm_mon], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)
        return CLF.sub(one, data)
    rewrite(ACCESS_LOG, fn)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: age-image.py INSTALLED (seconds since the epoch)")
    installed = int(sys.argv[1])
    now = int(time.time())
    if not 946684800 <= installed <= now - 41 * DAY:
        sys.exit(f"age-image.py: {installed} is not between 2000 and 41 days ago")
    os.unlink(sys.argv[0])
    first = first_after(LOGS[0], installed)
    if first is not None:
        shift = installed - first
        for log in LOGS:
            rewrite(log, lambda d: STAMP.sub(lambda m: shifted(m, shift, installed), d))
        move_times(shift, installed)
    for path, after in BAIT.items():
        if os.path.lexists(path):
            os.utime(path, (installed + after, installed + after), follow_symlinks=False)
    date_access_log(installed + ACCESS_LOG_END)
    if os.path.exists(ACCESS_LOG):
        os.utime(ACCESS_LOG, (installed + ACCESS_LOG_END, installed + ACCESS_LOG_END))


if __name__ == "__main__":
    main()
