print("dltrain")
