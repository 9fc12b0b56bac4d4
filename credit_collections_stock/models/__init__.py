from . import stock_picking
from . import stock_move
