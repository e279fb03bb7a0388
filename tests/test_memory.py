"""A resize too large for this computer fails before anything is allocated, naming what it needs."""
import pytest

from d2l_compat.common import data, memory, presets


def test_a_huge_resize_is_refused_with_the_sizes_and_a_suggestion(monkeypatch):
    monkeypatch.setattr(presets, "active_preset", lambda: None)
    monkeypatch.setattr(memory, "available_bytes", lambda: 16 * 2**30)
    data.prepared_arrays.cache_clear()
    with pytest.raises(memory.NotEnoughMemoryError) as caught:
        data.load_data_fashion_mnist(256, 10**6, "torch", lambda x, y: (x, y))
    message = str(caught.value)
    assert "resize=1000000" in message and "PiB" in message and "16.0 GiB available" in message
    fits = int(message.split("at most about ")[1].split()[0])
    assert 2 * sum(memory.resized_set_bytes((n, 28, 28), fits, 4096) for n in (60000, 10000)) <= 16 * 2**30
    assert 2 * sum(memory.resized_set_bytes((n, 28, 28), fits + 1, 4096) for n in (60000, 10000)) > 16 * 2**30
    assert "内存" in message


def test_a_size_that_fits_passes_the_check():
    memory.check_resize((60000, 10000), (28, 28), 96, 4096, available=8 * 2**30)


@pytest.mark.parametrize("n, text", [(512, "512 B"), (3 * 2**30 // 2, "1.5 GiB"), (60 * 2**50, "60.0 PiB")])
def test_byte_counts_read_as_people_read_them(n, text):
    assert memory.readable(n) == text
