from .comparison import (
    comparison_table,
    plot_comparison,
    run_arm,
    set_data_root,
)

__all__ = ['run_arm', 'set_data_root', 'comparison_table', 'plot_comparison']
