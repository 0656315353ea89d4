"""A tiny COCO-format data set for detection tests: shapes on noise, with boxes."""

import json

from PIL import Image


def write_coco(root, n=4, size=96):
    """Shapes on noise (1: bright square, 2: dark square) with their boxes, as COCO 2017 lays them out."""
    import torch

    g = torch.Generator().manual_seed(0)
    (root / "annotations").mkdir(parents=True)
    for split in ("train2017", "val2017"):
        (root / split).mkdir()
        images, anns = [], []
        for i in range(n):
            img = (torch.rand(size, size, 3, generator=g) * 90 + 80).byte()
            for cat, value in ((1, 255), (2, 0)):
                x, y = (int(v) for v in torch.randint(0, size // 2, (2,), generator=g))
                w, h = (int(v) for v in torch.randint(size // 5, size // 3, (2,), generator=g))
                img[y : y + h, x : x + w] = value
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h],
                             "area": w * h, "iscrowd": 0})  # fmt: skip
            Image.fromarray(img.numpy()).save(root / split / f"{i}.png")
            images.append({"id": i + 1, "file_name": f"{i}.png", "width": size, "height": size})
        cats = [{"id": 1, "name": "bright"}, {"id": 2, "name": "dark"}]
        (root / "annotations" / f"instances_{split}.json").write_text(
            json.dumps({"images": images, "annotations": anns, "categories": cats})
        )
