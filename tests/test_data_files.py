"""Finding, verifying and downloading the Fashion-MNIST files; every failure is a clear error."""
import gzip
import hashlib
import os
import pathlib

import numpy as np
import pytest

from d2l_compat.common import fashion_mnist as fm
from d2l_compat.common.errors import DatasetCorruptError, DatasetNotFoundError


@pytest.fixture(scope="module")
def real_dir():
    try:
        return fm.find_data_dir()
    except DatasetNotFoundError as err:
        pytest.fail(f"the real data are needed for these tests: {err}")


def copy_files(src, dst, names=fm.FILES):
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = fm._file_in(src, name)
        (dst / path.name).write_bytes(path.read_bytes())
    return dst


def test_real_files_have_the_documented_sizes_and_labels(real_dir):
    train_x, train_y, test_x, test_y = fm.load_arrays(real_dir)
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)
    assert train_y.shape == (60000,) and test_y.shape == (10000,)
    assert train_x.dtype == np.uint8 and train_x.max() == 255
    assert np.array_equal(np.bincount(train_y), np.full(10, 6000))  # balanced classes
    assert np.array_equal(np.bincount(test_y), np.full(10, 1000))


def test_missing_data_names_every_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv(fm.DATA_ENV, raising=False)
    monkeypatch.setattr(fm, "DEFAULT_HOME", tmp_path / "home")
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        fm.find_data_dir()
    message = str(info.value)
    for place in fm.candidate_dirs():
        assert str(place.resolve()) in message
    assert "make data" in message


def test_environment_variable_is_the_only_place_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv(fm.DATA_ENV, str(tmp_path / "nowhere"))
    assert fm.candidate_dirs() == [tmp_path / "nowhere"]
    with pytest.raises(DatasetNotFoundError, match="nowhere"):
        fm.find_data_dir()


def test_d2l_convention_of_a_data_folder_beside_the_notebooks(real_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(fm.DATA_ENV, raising=False)
    monkeypatch.setattr(fm, "DEFAULT_HOME", tmp_path / "home")
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    copy_files(real_dir, tmp_path / "data" / "FashionMNIST" / "raw")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert fm.find_data_dir().resolve() == (tmp_path / "data" / "FashionMNIST" / "raw").resolve()


def test_uncompressed_files_are_read_too(real_dir, tmp_path):
    for name in fm.FILES:
        raw = gzip.decompress(fm._file_in(real_dir, name).read_bytes()) \
            if fm._file_in(real_dir, name).suffix == ".gz" else fm._file_in(real_dir, name).read_bytes()
        (tmp_path / name).write_bytes(raw)
    assert fm.load_arrays(tmp_path)[3].shape == (10000,)


def test_truncated_gzip_is_a_clear_error_naming_the_file(real_dir, tmp_path):
    folder = copy_files(real_dir, tmp_path / "d")
    victim = folder / "t10k-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:300])
    with pytest.raises(DatasetCorruptError) as info:
        fm.load_arrays(folder)
    assert str(victim) in str(info.value) and "truncated or corrupted" in str(info.value)


def test_changed_bytes_fail_the_checksum(real_dir, tmp_path):
    folder = copy_files(real_dir, tmp_path / "d")
    victim = folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: still a valid IDX file
    victim.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetCorruptError, match="failed its checksum") as info:
        fm.load_arrays(folder)
    assert str(victim) in str(info.value)


def test_a_file_that_is_not_idx_says_so(real_dir, tmp_path):
    folder = copy_files(real_dir, tmp_path / "d")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(DatasetCorruptError, match="not an IDX file"):
        fm.load_arrays(folder)


def serve_mirror(real_dir, folder, corrupt=None):
    """A local mirror (file:// URL) of .gz files, with their MD5s, optionally one truncated."""
    folder.mkdir()
    md5s = {}
    for name in fm.FILES:
        data = fm._file_in(real_dir, name).read_bytes()
        if name == corrupt:
            data = data[: len(data) // 2]
        (folder / (name + ".gz")).write_bytes(data)
        md5s[name] = hashlib.md5(fm._file_in(real_dir, name).read_bytes()).hexdigest()
    return folder.as_uri() + "/", md5s


def with_md5s(monkeypatch, md5s):
    files = {name: spec[:3] + (md5s[name],) for name, spec in fm.FILES.items()}
    monkeypatch.setattr(fm, "FILES", files)


def test_download_verifies_then_renames(real_dir, tmp_path, monkeypatch):
    mirror, md5s = serve_mirror(real_dir, tmp_path / "mirror")
    with_md5s(monkeypatch, md5s)
    target = fm.download(tmp_path / "target", mirror=mirror)
    assert sorted(p.name for p in target.iterdir()) == sorted(n + ".gz" for n in fm.FILES)
    assert fm.load_arrays(target)[0].shape == (60000, 28, 28)


def test_interrupted_or_corrupt_download_leaves_no_file(real_dir, tmp_path, monkeypatch):
    mirror, md5s = serve_mirror(real_dir, tmp_path / "mirror", corrupt="train-images-idx3-ubyte")
    with_md5s(monkeypatch, md5s)
    target = tmp_path / "target"
    with pytest.raises(DatasetCorruptError, match="nothing was saved"):
        fm.download(target, mirror=mirror)
    assert not (target / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in target.iterdir() if p.name.endswith(".part")]


def test_unreachable_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="could not download"):
        fm.download(tmp_path / "target", mirror=(tmp_path / "no-mirror").as_uri())
    assert list((tmp_path / "target").iterdir()) == []
