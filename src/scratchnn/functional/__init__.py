"""Drop-in twins of ``torch.nn.functional`` (and of ``torch.matmul``/``mm``/``bmm``), from scratch.

Each family lives in its own module and is re-exported here flat.
"""

from .activation import (
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softplus,
    softsign,
    tanh,
    tanhshrink,
)
from .attention import scaled_dot_product_attention
from .attention import sdpa_backend as sdpa_backend  # an older name of scratchnn.settings(attention=...)
from .bilinear import (
    bilinear,
)
from .classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    linear_cross_entropy,
    nll_loss,
)
from .conv import conv1d, conv2d, conv3d
from .conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d
from .ctc import ctc_loss
from .dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from .embedding import (
    embedding,
    embedding_bag,
)
from .fold import fold, unfold
from .interpolate import interpolate
from .linear import bmm, linear, matmul, mm
from .loss import (
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from .margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .morphology import closing2d, dilation2d, erosion2d, gradient2d, opening2d, tophat2d
from .multihead import multi_head_attention_forward
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .padding import pad
from .pixel_shuffle import pixel_shuffle, pixel_shuffle_nd, pixel_unshuffle, pixel_unshuffle_nd
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .semiring import Semiring as Semiring  # a type and its factory, not ops: outside __all__
from .semiring import get_semiring as get_semiring
from .semiring import semiring_conv1d, semiring_conv2d, semiring_conv3d
from .softmax import log_softmax, softmax

__all__ = [
    "alpha_dropout",
    "batch_norm",
    "bilinear",
    "bmm",
    "celu",
    "conv1d",
    "conv2d",
    "conv3d",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "embedding",
    "embedding_bag",
    "feature_alpha_dropout",
    "gelu",
    "glu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "instance_norm",
    "layer_norm",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log_softmax",
    "logsigmoid",
    "matmul",
    "mish",
    "mm",
    "multi_head_attention_forward",
    "normalize",
    "pad",
    "prelu",
    "relu",
    "relu6",
    "rms_norm",
    "scaled_dot_product_attention",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
    "tanhshrink",
]
__all__ += [  # pooling, interpolation
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "interpolate",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]
__all__ += [  # semiring convolutions, morphology
    "closing2d",
    "dilation2d",
    "erosion2d",
    "gradient2d",
    "opening2d",
    "semiring_conv1d",
    "semiring_conv2d",
    "semiring_conv3d",
    "tophat2d",
]
__all__ += [  # transposed convolution, im2col/col2im, pixel shuffle
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "pixel_shuffle",
    "pixel_shuffle_nd",
    "pixel_unshuffle",
    "pixel_unshuffle_nd",
    "unfold",
]
__all__ += [  # losses
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
