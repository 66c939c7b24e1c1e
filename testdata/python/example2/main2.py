# Import baseExtr class from memoryexample file
from memoryexample import baseExtr
if __name__ == "__main__":
	# Git URL for importing word list
	url = 'https://raw.githubusercontent.com/dwyl/english-words/master/words.txt'
	# Array for word from text file 
	array = ['five', 'four', 'three', 'two', 'one']
	# Initializing Extractor object from baseExtr() class
	wordExtract = baseExtr()
	# Calling parseURL() function from baseExtr class
	wordExtract.parseURL(url)
	# Calling out pasreList() function
	wordExtract.parseList(array)
