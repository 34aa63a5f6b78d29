"""python -m sg2im.serve --checkpoint models/vg/sg2im.pt"""
from sg2im.serve import main

main()
