import os
import stat

from postag.files import atomic_write_bytes


def test_atomic_write_gives_the_permissions_of_a_plain_write(tmp_path):
    """A wheel or report written through a temporary file is as readable as any file
    the user writes (mkstemp alone would leave it 0600)."""
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "atomic.bin", b"data")
    assert (tmp_path / "atomic.bin").read_bytes() == b"data"
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.bin").st_mode)
    assert mode == stat.S_IMODE(os.stat(plain).st_mode)
    assert not list(tmp_path.glob(".atomic.bin.*"))  # no temporary left behind
