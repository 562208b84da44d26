"""Drop-in twins of ``torch.nn.functional`` (and of ``torch.matmul``, ``mm``, ``bmm``, ``mv``,
``addmm``, ``addmv``, ``baddbmm``, ``addbmm``, ``einsum`` and ``_grouped_mm``), from scratch.

Each family lives in its own module and is re-exported here flat.
"""

from .._args import public_op
from .activation import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    gumbel_softmax,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    selu,
    selu_,
    sigmoid,
    silu,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from .adaptive_pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
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
from .distance import cosine_similarity, pairwise_distance, pdist
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
    one_hot,
)
from .fold import fold, unfold
from .fractional_pooling import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from .grid_sample import affine_grid, grid_sample
from .interpolate import interpolate, upsample, upsample_bilinear, upsample_nearest
from .linear import addbmm, addmm, addmv, baddbmm, bmm, einsum, grouped_mm, linear, matmul, mm, mv
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
from .pixel_shuffle import (
    channel_shuffle,
    native_channel_shuffle,
    pixel_shuffle,
    pixel_shuffle_nd,
    pixel_unshuffle,
    pixel_unshuffle_nd,
)
from .pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
)
from .rnn import gru, gru_cell, lstm, lstm_cell, rnn_relu, rnn_relu_cell, rnn_tanh, rnn_tanh_cell
from .semiring import Semiring as Semiring  # a type and its factory, not ops: outside __all__
from .semiring import get_semiring as get_semiring
from .semiring import semiring_conv1d, semiring_conv2d, semiring_conv3d
from .softmax import log_softmax, softmax, softmin
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d

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
__all__ += [  # recurrent layers, under the names of torch's ATen ops (torch.lstm, torch.gru_cell …)
    "gru",
    "gru_cell",
    "lstm",
    "lstm_cell",
    "rnn_relu",
    "rnn_relu_cell",
    "rnn_tanh",
    "rnn_tanh_cell",
]

__all__ += [  # activations, distances, one_hot, channel shuffle, grid sampling, fractional pooling
    "affine_grid",
    "channel_shuffle",
    "cosine_similarity",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "grid_sample",
    "gumbel_softmax",
    "hardshrink",
    "native_channel_shuffle",
    "one_hot",
    "pairwise_distance",
    "pdist",
    "rrelu",
    "softmin",
    "softshrink",
    "threshold",
]

__all__ += [  # in-place and deprecated spellings torch.nn.functional has
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "celu_",
    "elu_",
    "hardtanh_",
    "leaky_relu_",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "relu_",
    "selu_",
    "threshold_",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]
__all__ += [  # the tensor products torch has beside matmul
    "addbmm",
    "addmm",
    "addmv",
    "baddbmm",
    "einsum",
    "grouped_mm",
    "mv",
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

# Every op checks its tensor arguments' types first (torch's TypeError, naming the argument), and
# every error it raises starts with its name.
for _name in __all__:
    globals()[_name] = public_op(globals()[_name])
del _name
