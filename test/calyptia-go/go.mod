module keyward.test/calyptiago

go 1.19
