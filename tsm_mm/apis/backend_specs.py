"""``BACKEND[:PRECISION]``: how the tools name a streaming inferencer's
backend and precision (``pytorch:bf16``, ``pytorch:compile``,
``openvino:default``)."""
from typing import NamedTuple

from .inferencers import StreamingDetInferencer

BACKENDS = StreamingDetInferencer.backends
# 'compile' is pytorch's torch.compile at fp32; 'int8' openvino's run of the
# model of tools/quantize_openvino.py (the CPU's default precision between)
SPEC_PRECISIONS = ('f32', 'bf16', 'default', 'compile', 'int8')


class BackendSpec(NamedTuple):
    """One backend at one precision, as asked."""
    backend: str
    precision: str  # one of SPEC_PRECISIONS

    def inferencer_args(self) -> dict:
        """The ``StreamingDetInferencer`` arguments that run it."""
        asked = dict(compile='f32', int8='default').get(self.precision,
                                                        self.precision)
        return dict(backend=self.backend, precision=asked,
                    compile=self.precision == 'compile')

    def label(self, ran: str) -> str:
        """The precision to show: the one the backend reports it ran
        (``ran``), or ``'f32 compiled'``."""
        return 'f32 compiled' if self.precision == 'compile' else ran


def parse_backend_spec(spec: str, arg: str,
                       precision: str = 'f32') -> BackendSpec:
    """Read one ``BACKEND[:PRECISION]``.

    Args:
        spec (str): E.g. ``'openvino:bf16'``; ``compile`` is a precision of
            ``pytorch`` only, ``int8`` of ``openvino`` only, ONNX Runtime
            runs f32.
        arg (str): The argument that gave it, for messages.
        precision (str): The precision of a spec that names none.

    Returns:
        BackendSpec: The backend and precision.
    """
    backend, _, asked = spec.partition(':')
    asked = asked or precision
    if backend not in BACKENDS or asked not in SPEC_PRECISIONS:
        raise ValueError(f'{arg} {spec}: expected BACKEND[:PRECISION] with '
                         f'BACKEND in {BACKENDS} and PRECISION in '
                         f'{SPEC_PRECISIONS}')
    if asked == 'compile' and backend != 'pytorch':
        raise ValueError(f'{arg} {spec}: only pytorch compiles')
    if asked == 'int8' and backend != 'openvino':
        raise ValueError(f'{arg} {spec}: only openvino runs the int8 model '
                         'of tools/quantize_openvino.py')
    if backend == 'onnxruntime' and asked != 'f32':
        raise ValueError(f'{arg} {spec}: ONNX Runtime runs f32')
    return BackendSpec(backend, asked)
