import numpy as np
import pytest

from genperc.data.sprites import SHAPES, TEXTURES, SpriteParams, SpriteRenderer, SpriteScene, bounding_radius


def one(shape=1, x=0.5, y=0.5, scale=0.4, hue=0.0, rotation=0.0, texture=0):
    return SpriteParams(shape=shape, x=x, y=y, scale=scale, hue=hue, rotation=rotation, texture=texture)


@pytest.mark.parametrize("res", [16, 32, 64, 128])
def test_shapes_and_dtypes(res):
    img, mask = SpriteRenderer(res).render(SpriteScene((one(), one(shape=2, x=0.2)), background=2))
    assert img.shape == (res, res, 3) and img.dtype == np.uint8
    assert mask.shape == (res, res) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1, 2}


def test_square_mask_is_exact():
    # an axis-aligned square of side 0.5 centred in a 32² image covers exactly pixels 8..23
    img, mask = SpriteRenderer(32).render(SpriteScene((one(shape=SHAPES.index("square"), scale=0.5),)))
    expected = np.zeros((32, 32), dtype=np.uint8)
    expected[8:24, 8:24] = 1
    assert np.array_equal(mask, expected)


def test_anti_aliased_edges():
    # a square whose edge falls mid-pixel gives intermediate values there, and full colour inside
    img, mask = SpriteRenderer(32).render(SpriteScene((one(shape=1, scale=0.5 + 1 / 32, hue=0.0),)))
    red = img[..., 0].astype(int)
    assert red[16, 16] == 255 and red[0, 0] == 0 and 0 < red[16, 7] < 255


def test_occlusion_order_and_masks():
    scene = SpriteScene((one(shape=1, x=0.45, scale=0.4), one(shape=2, x=0.55, scale=0.4, hue=0.6)))
    _, mask = SpriteRenderer(32).render(scene)
    assert mask[16, 17] == 2  # overlap region belongs to the later (top) sprite
    assert mask[16, 9] == 1 and mask[16, 0] == 0


def test_every_shape_and_texture_renders_differently():
    r = SpriteRenderer(32)
    by_shape = [r.render(SpriteScene((one(shape=s, scale=0.6),)))[1] for s in range(len(SHAPES))]
    for i in range(len(by_shape)):
        for j in range(i + 1, len(by_shape)):
            assert (by_shape[i] != by_shape[j]).sum() > 5, (SHAPES[i], SHAPES[j])
    by_tex = [r.render(SpriteScene((one(texture=t, scale=0.7),)))[0] for t in range(len(TEXTURES))]
    for i in range(len(by_tex)):
        for j in range(i + 1, len(by_tex)):
            assert np.abs(by_tex[i].astype(int) - by_tex[j]).sum() > 100, (TEXTURES[i], TEXTURES[j])


def test_bounding_radius_contains_every_shape():
    r = SpriteRenderer(64)
    c = (np.arange(64) + 0.5) / 64
    gx, gy = np.meshgrid(c, c)
    for s in range(len(SHAPES)):
        for rot in (0.0, 0.1, 0.3):
            _, mask = r.render(SpriteScene((one(shape=s, scale=0.5, rotation=rot),)))
            d = np.hypot(gx - 0.5, gy - 0.5)[mask == 1]
            assert d.max() <= bounding_radius(s, 0.5) + 1 / 64, SHAPES[s]


def test_deterministic_and_rejects_bad_index():
    r = SpriteRenderer(32)
    scene = SpriteScene((one(rotation=0.13, texture=2),), background=4, background_hue=0.3)
    a, b = r.render(scene), SpriteRenderer(32).render(scene)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="out of range"):
        r.render(SpriteScene((one(shape=99),)))
