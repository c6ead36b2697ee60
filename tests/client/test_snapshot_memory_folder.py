"""Where an encrypted laptop may unpack a snapshot: memory, never a disk."""

from __future__ import annotations

from sync.local import snapshot as taking


def test_the_memory_folder_is_dev_shm_only_where_it_is_a_tmpfs(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    monkeypatch.setattr(taking, "MOUNTS", mounts)
    mounts.write_text("proc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n")
    assert taking.ram_folder() == taking.RAM_FOLDER
    mounts.write_text("/dev/sda1 /dev/shm ext4 rw 0 0\n")  # a disk mounted there
    assert taking.ram_folder() is None
    mounts.write_text("tmpfs /run tmpfs rw 0 0\n")
    assert taking.ram_folder() is None
    mounts.unlink()  # no /proc: not Linux
    assert taking.ram_folder() is None
