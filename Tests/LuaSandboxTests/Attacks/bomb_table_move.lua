-- expect: error exceeds the limit
-- limits: rangeItems=1000
table.move({}, 1, 3000000, 2)
return "done"
