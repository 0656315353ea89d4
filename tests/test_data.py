"""Data sources, corrupted images, samplers (PAPER.md sec. 8)."""

from collections import Counter

import pytest
import torch
from PIL import Image

from senet import DataError
from senet import data as D


def _folder(root, classes=("a", "b"), n=3, size=12):
    for split in ("train", "val"):
        for c, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (size, size), (40 * c + i, 100, 200)).save(d / f"{i}.png")
    return root


def test_digits_fixed_split_32x32():
    train, val, classes, _ = D.build("digits", D.Views("digits", 32))
    assert (len(train), len(val), len(classes)) == (1347, 450, 10)
    x, y = val[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    _, val2, _, _ = D.build("digits", D.Views("digits", 32))
    assert torch.equal(val[5][0], val2[5][0])  # fixed split, deterministic eval view


def test_corrupted_image_is_skipped_and_counted_or_fatal_with_strict(tmp_path):
    root = _folder(tmp_path)
    bad = root / "train" / "a" / "1.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    views = D.Views("none", 12, eval_resize=12, eval_crop=12)
    train, _, classes, _ = D.build(f"imagefolder:{root}", views)
    assert classes == ["a", "b"]
    batches = list(D.loader(train, 4))
    assert sum(b[2] for b in batches) == 1
    assert sum(len(b[1]) for b in batches) == 5
    strict, _, _, _ = D.build(f"imagefolder:{root}", views, strict=True)
    with pytest.raises(DataError, match="1.png"):
        list(D.loader(strict, 4))


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        D.build(f"imagefolder:{tmp_path / 'missing'}", D.Views())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no train/"):
        D.build(f"imagefolder:{tmp_path / 'empty'}", D.Views())
    root = _folder(tmp_path / "x")
    (root / "train" / "c").mkdir()  # a class folder without images
    with pytest.raises(DataError, match="train"):
        D.build(f"imagefolder:{root}", D.Views())
    with pytest.raises(DataError, match="allowed are digits"):
        D.parse("mnist")
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        D.build(f"cifar10:{tmp_path / 'empty'}", D.Views())


def test_class_aware_sampler_walks_the_classes_once_per_pass():
    """Relay Backpropagation: shuffled class list walked through, each class once per pass; within a class
    its own shuffled list, reshuffled when exhausted (so a rare class's images repeat, each once per round)."""
    targets = [0] * 60 + [1] * 30 + [2] * 7  # 60:30:7
    s = D.ClassAwareSampler(targets, seed=0)
    order = list(s)
    assert len(order) == len(targets) == 97
    passes = [order[i : i + 3] for i in range(0, 96, 3)]
    assert all(sorted(targets[j] for j in p) == [0, 1, 2] for p in passes)  # every class once per pass
    rare = [j for j in order if targets[j] == 2]
    assert all(sorted(rare[k : k + 7]) == list(range(90, 97)) for k in range(0, 28, 7))  # each once per round
    assert len({tuple(targets[j] for j in p) for p in passes}) > 1  # the class order is reshuffled per pass
    s.set_epoch(1)
    assert list(s) != order and list(D.ClassAwareSampler(targets, seed=0)) == order


def test_global_batch_shard_two_ranks_cover_one_process_order():
    base = list(range(20))

    class Fixed(torch.utils.data.Sampler):
        def __iter__(self):
            return iter(base)

        def __len__(self):
            return len(base)

        def set_epoch(self, e):
            pass

    r0, r1 = (list(D.GlobalBatchShard(Fixed(), 2, 2, r)) for r in (0, 1))
    assert r0 == [0, 1, 4, 5, 8, 9, 12, 13, 16, 17] and r1 == [2, 3, 6, 7, 10, 11, 14, 15, 18, 19]
    assert list(D.SkipFirst(D.GlobalBatchShard(Fixed(), 2, 2, 0), 4)) == [8, 9, 12, 13, 16, 17]


# ---- data that cannot be misread (issue "Runs you can trust", root cause 5) ------------------------------
def test_a_symlink_loop_does_not_multiply_images(tmp_path):
    root = _folder(tmp_path)
    (root / "train" / "a" / "loop").symlink_to(root / "train" / "a", target_is_directory=True)
    (root / "train" / "b" / "also_a").symlink_to(root / "train" / "a", target_is_directory=True)
    train, _, _, _ = D.build(f"imagefolder:{root}", D.Views("none", 12, eval_resize=12, eval_crop=12))
    # a: its 3 files once; b: its 3 files and a's 3 through its link (another class's folder, once)
    assert Counter(train.targets) == {0: 3, 1: 6}


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    import numpy as np

    grey = np.full((8, 8), 32768, dtype=np.uint16)  # half of full scale
    Image.fromarray(grey).save(tmp_path / "g16.png")
    img = D.read_image(tmp_path / "g16.png")
    assert img.mode == "RGB" and abs(np.asarray(img).mean() - 127.5) < 1.0  # not 255 (white)
    Image.new("RGB", (4, 4), (10, 20, 30)).save(tmp_path / "rgb.png")
    assert np.asarray(D.read_image(tmp_path / "rgb.png"))[0, 0].tolist() == [10, 20, 30]
    Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32)).save(tmp_path / "f.tif")  # float, 0..1
    assert abs(np.asarray(D.read_image(tmp_path / "f.tif")).mean() - 127.5) < 1.0  # not black


def test_a_decompression_bomb_is_skipped_and_counted(tmp_path, monkeypatch):
    root = _folder(tmp_path, size=64)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 = 4096 > 2x the limit: a "bomb"
    views = D.Views("none", 12, eval_resize=12, eval_crop=12)
    train, _, _, _ = D.build(f"imagefolder:{root}", views)
    batches = list(D.loader(train, 4))
    assert sum(b[2] for b in batches) == 6 and sum(len(b[1]) for b in batches) == 0
    strict, _, _, _ = D.build(f"imagefolder:{root}", views, strict=True)
    with pytest.raises(DataError, match="DecompressionBombError"):
        list(D.loader(strict, 4))


def test_a_crop_larger_than_the_images_is_reported_as_such():
    train, _, _, _ = D.build("digits", D.Views("digits", 64))  # 64 px crops of 32 px digits
    with pytest.raises(DataError, match="check --image-size"):
        next(iter(D.loader(train, 8)))


def test_augmentation_is_a_function_of_seed_epoch_and_index():
    train, _, _, _ = D.build("digits", D.Views("digits", 32))
    a, b = D.Seeded(train, seed=3), D.Seeded(train, seed=3)
    torch.manual_seed(0)
    first = a[5][0]
    torch.manual_seed(123)  # the global RNG does not matter, and is left as it was
    state = torch.get_rng_state()
    assert torch.equal(b[5][0], first) and torch.equal(torch.get_rng_state(), state)
    b.set_epoch(1)
    assert not torch.equal(b[5][0], first)
    workers = [x for x, _, _ in D.loader(a, 16, workers=2)]
    inline = [x for x, _, _ in D.loader(a, 16, workers=0)]
    assert all(torch.equal(p, q) for p, q in zip(workers, inline))


def test_the_evaluation_resize_takes_the_weights_interpolation():
    from torchvision.transforms import v2

    from senet import data as D

    tf = D.eval_transform(
        D.Views(eval_resize=236, eval_crop=224, interpolation="bicubic"), (0.5,) * 3, (0.5,) * 3
    )
    (resize,) = [t for t in tf.transforms if isinstance(t, v2.Resize)]
    assert resize.interpolation == v2.InterpolationMode.BICUBIC and resize.size == [236]
